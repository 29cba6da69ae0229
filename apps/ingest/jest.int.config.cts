module.exports = {
  displayName: 'ingest:int',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
};
