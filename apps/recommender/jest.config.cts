module.exports = {
  displayName: 'recommender',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  coverageDirectory: '../../coverage/apps/recommender',
};
