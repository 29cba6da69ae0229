module.exports = {
  displayName: 'tools',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  coverageDirectory: '../../coverage/tools/generators',
  testPathIgnorePatterns: ['/files/'],
};
