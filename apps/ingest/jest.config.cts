module.exports = {
  displayName: 'ingest',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  coverageDirectory: '../../coverage/apps/ingest',
};
