module.exports = {
  displayName: 'privacy:int',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
};
