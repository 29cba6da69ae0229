// `node dist/apps/simulator/migrate.js` applies the simulator's own migrations (copied next to it).
module.exports = require('../../tools/webpack/app.webpack')(__dirname, { entries: { migrate: './src/migrate.ts' }, migrations: true });
