// `node dist/apps/privacy/migrate.js` applies the migrations (copied next to it).
module.exports = require('../../tools/webpack/app.webpack')(__dirname, { entries: { migrate: './src/migrate.ts' }, migrations: true });
