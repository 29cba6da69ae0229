module.exports = {
  displayName: 'recommender:int',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
};
