// `node dist/apps/analytics/migrate.js` applies the migrations (copied next to it).
module.exports = require('../../tools/webpack/app.webpack')(__dirname, { entries: { migrate: './src/migrate.ts' }, migrations: true });
