/**
 * `python -m unittest discover`, applied to every directory that is not inside a package: plain
 * discovery only descends into packages (directories with __init__.py; Python 3.11 dropped
 * namespace-package discovery), and generated code routinely puts tests in a `tests/` directory
 * without one. Each such directory is discovered as its own top level with unittest's own loader;
 * the run, its output and exit status are unittest's TextTestRunner's, so the output parser is the
 * same as for the plain command. Pattern `*test*.py` finds `test_*.py` and `*_test.py`.
 */
export const UNITTEST_DISCOVER_SOURCE = String.raw`
import fnmatch
import os
import sys
import unittest

PATTERNS = ('test*.py', '*_test.py')
SKIPPED = {'node_modules', '__pycache__', 'venv', 'site-packages'}


class Loader(unittest.TestLoader):
    # discover() takes one glob; test modules are named either way.
    def _match_path(self, path, full_path, pattern):
        return any(fnmatch.fnmatch(path, p) for p in PATTERNS)


def main():
    root = os.getcwd()
    sys.path.insert(0, root)
    loader = Loader()
    suite = unittest.TestSuite()
    for current, dirs, _files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED and not d.startswith('.'))
        if current == root or not os.path.isfile(os.path.join(current, '__init__.py')):
            suite.addTests(loader.discover(current, pattern=PATTERNS[0], top_level_dir=current))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if result.testsRun == 0:
        sys.exit(5)
    sys.exit(0 if result.wasSuccessful() else 1)

main()
`;
