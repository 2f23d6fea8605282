// ESLint: @eslint/js recommended + typescript-eslint strict, and the house style's
// import boundaries (HOUSE_STYLE.md "The shape of the code", habits 1, 5, 9):
//   src/cli/**   the shell: argv, terminal, exit codes; may import any capability.
//   src/tools/** adapters (runner, docker, kubectl, git): import no capability.
//   every other src/ folder and file is a capability: never imports from src/cli/,
//   never imports chalk, ora or commander, never touches the `process` global.
// Only src/cli/main.ts touches `process`; the exceptions below say why.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const fromCli = {
  regex: '^(\\./|(\\.\\./)+)cli(/|$)',
  message: 'Capabilities never import from src/cli/: pass what they need in, report through onEvent (HOUSE_STYLE habit 5).',
};
const terminalPackages = ['chalk', 'ora', 'commander'].map((name) => ({
  name,
  message: `${name} belongs to src/cli/ only: capabilities return data and report through onEvent (HOUSE_STYLE habit 5).`,
}));
const processModule = ['process', 'node:process'].map((name) => ({
  name,
  message: 'Only src/cli/main.ts touches process: take cwd, env, streams and signals from the Ctx (HOUSE_STYLE habits 1 and 6).',
}));
const processGlobal = {
  name: 'process',
  message: 'Only src/cli/main.ts touches process: take cwd, env, streams and signals from the Ctx (HOUSE_STYLE habits 1 and 6).',
};
// Adapters sit below the capabilities: a relative import that climbs out of src/tools/
// into another folder reaches a capability. Root modules (errors.ts, config.ts) are fine.
const capabilityFromTool = {
  regex: '^(\\.\\./)+(?!tools/)[\\w-]+/',
  message: 'src/tools/ holds adapters: they import no capability (declare the type they return here instead).',
};

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'examples/**', 'templates/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    // Every linted file, .ts and .js/.mjs alike (typescript-eslint's rules apply to both).
    rules: {
      // `_name` marks a parameter an interface requires but this implementation ignores.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // tsconfig has noUncheckedIndexedAccess, so numeric loops say `values[i]!` where the
      // index is in range by construction (436 places, most in drift/ and experiment/);
      // the rule would push them to `?? 0`, which hides an out-of-range bug instead.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Validators of parsed YAML/JSON (alerts, monitor rules) and the fake API server's
      // patches remove fields of a plain mapping by name; a Map would not round-trip.
      '@typescript-eslint/no-dynamic-delete': 'off',
    },
  },
  {
    // The Smirnov/Stirling constants are quoted digit for digit from cephes, the
    // reference implementation the tests compare against; doubles round them.
    files: ['src/drift/kolmogorov.ts'],
    rules: { 'no-loss-of-precision': 'off' },
  },

  // Capabilities: every src/ folder but cli/ and tools/, and the root modules.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**', 'src/tools/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [...terminalPackages, ...processModule], patterns: [fromCli] }],
      'no-restricted-globals': ['error', processGlobal],
    },
  },
  // Adapters.
  {
    files: ['src/tools/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [...terminalPackages, ...processModule], patterns: [fromCli, capabilityFromTool] }],
      'no-restricted-globals': ['error', processGlobal],
    },
  },
  // The shell: may import anything, but only main.ts touches process.
  {
    files: ['src/cli/**/*.ts'],
    ignores: ['src/cli/main.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: processModule }],
      'no-restricted-globals': ['error', processGlobal],
    },
  },

  // Listed exceptions to "never the process global", each with its reason.
  {
    // A `mlops serve --workers N` worker is a process's main, like cli/main.ts: it owns
    // its IPC channel and signals (node:cluster).
    files: ['src/serve/worker.ts'],
    rules: { 'no-restricted-globals': 'off' },
  },
  {
    // Reads of this process's identity, no side effects: process.pid names the owner of
    // the registry lock and of temp files; process.kill(pid, 0) probes whether a lock
    // owner still lives. Passing the pid through every registry call buys nothing.
    // The lock goes when the store with conditional writes lands (branch s3-store, whose
    // src/store/folder.ts names temp files and its short-lived write lock by pid).
    files: ['src/registry/fs.ts', 'src/registry/lock.ts', 'src/store/folder.ts'],
    rules: {
      'no-restricted-globals': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: "Identifier[name='process']:not(MemberExpression[property.name=/^(pid|kill)$/] > Identifier.object)",
          message: 'Here only process.pid and process.kill(pid, 0) are allowed (eslint.config.js lists why).',
        },
      ],
    },
  },
  {
    // process.execPath: the demo starts mlops child processes with the node that runs it.
    // To go once the Ctx carries it (src/cli/context.ts is being reworked on branch hardening).
    files: ['src/demo/demo.ts'],
    rules: {
      'no-restricted-globals': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: "Identifier[name='process']:not(MemberExpression[property.name='execPath'] > Identifier.object)",
          message: 'Here only process.execPath is allowed (eslint.config.js lists why).',
        },
      ],
    },
  },

  // Tests, test support and benchmarks: a lighter set. Test code reads JSON bodies and
  // kubectl objects without declaring their whole shape.
  {
    files: ['test/**/*.ts', 'test/**/*.mjs', 'vitest.config.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      // Assertions on table output match its column gaps literally.
      'no-regex-spaces': 'off',
      // Tests assert that escapes and control bytes are stripped or refused; in src/ each
      // such regex carries its own disable comment with the reason.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        ['process', 'console', 'fetch', 'AbortSignal', 'URL', 'Buffer', 'performance', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'].map((name) => [
          name,
          'readonly',
        ]),
      ),
    },
  },

  // TEMPORARY: files being rewritten on other branches, not edited here so the merges stay
  // clean. Each entry turns off only the rules that file breaks today; the boundary rules
  // still apply. Remove an entry after its branch is merged and the file lints clean.
  {
    // Being rewritten on branch s3-store (register.ts imports sha256Hex and never uses
    // it; records.ts refuses control characters in file names on purpose and needs a
    // disable comment on that line). Remove after merge.
    files: ['src/registry/register.ts'],
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
  },
  {
    files: ['src/registry/records.ts'],
    rules: { 'no-control-regex': 'off' },
  },
);
