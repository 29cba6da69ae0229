// `node dist/apps/cdc/migrate.js` applies the app database migrations (copied next to it).
module.exports = require('../../tools/webpack/app.webpack')(__dirname, { entries: { migrate: './src/migrate.ts' }, migrations: true });
