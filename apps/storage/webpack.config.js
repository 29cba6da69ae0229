// `node dist/apps/storage/migrate.js` applies the CQL migrations (copied next to it); `graph-import.js <file>` bulk
// imports follow edges (BulkImportFollows, then RecountFollows).
module.exports = require('../../tools/webpack/app.webpack')(__dirname, {
  entries: { migrate: './src/migrate.ts', 'graph-import': './src/graph-import-cli.ts' },
  migrations: true,
});
