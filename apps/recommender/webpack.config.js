// `node recs.js` is the command line: train, evaluate, search, promote (README.md); scoring-worker.js the program of
// Recommend's scoring threads (src/candidates/scoring-threads.ts).
module.exports = require('../../tools/webpack/app.webpack')(__dirname, {
  entries: { recs: './src/cli/recs-cli.ts', 'scoring-worker': './src/candidates/scoring.worker.ts' },
});
