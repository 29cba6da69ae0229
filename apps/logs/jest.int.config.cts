module.exports = {
  displayName: 'logs:int',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
};
