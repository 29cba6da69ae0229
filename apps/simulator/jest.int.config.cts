module.exports = {
  displayName: 'simulator:int',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
};
