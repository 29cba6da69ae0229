// `node recs.js` is the command line: train, evaluate, search, promote (README.md).
module.exports = require('../../tools/webpack/app.webpack')(__dirname, { entries: { recs: './src/cli/recs-cli.ts' } });
