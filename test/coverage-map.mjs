// Every test file is accountable for all of lib/: coverage is measured over the whole source tree.
export default () => ['lib/**/*.ts']
