import js from '@eslint/js'
import regexp from 'eslint-plugin-regexp'
import tseslint from 'typescript-eslint'

// The layers of src/ (docs/architecture.md): what each folder may import of the others. A
// folder not named here (a new one) is not checked until it is added. The wiring sits on
// top: container.ts builds the services, app.ts assembles the web app, cli/ and main.ts run
// them; no folder below may import one of them.
const LAYERS = {
  config: [],
  process: [],
  db: ['config', 'process'],
  dsp: [],
  storage: ['config', 'db', 'process'],
  media: ['config', 'db', 'dsp', 'process', 'storage'],
  engines: ['config', 'db', 'dsp', 'media', 'process', 'storage'],
  access: ['db', 'process'],
  http: ['access', 'config', 'db', 'process', 'storage'],
  audit: ['access', 'config', 'db', 'http', 'process'],
  guard: ['access', 'audit', 'config', 'db', 'http', 'process'],
  observability: ['access', 'config', 'db', 'guard', 'http', 'process'],
  modules: ['access', 'audit', 'config', 'db', 'dsp', 'engines', 'guard', 'http', 'media', 'observability', 'process', 'storage']
}
const WIRING = ['**/container.ts', '**/app.ts', '**/main.ts', '**/cli/**']

const layerRules = Object.entries(LAYERS).map(([folder, allowed]) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [{
        group: [...Object.keys(LAYERS).filter((other) => other !== folder && !allowed.includes(other)).map((other) => `**/${other}/**`), ...WIRING],
        message: `src/${folder}/ may import only ${allowed.length ? allowed.join(', ') : 'packages'} of src/ (docs/architecture.md, "Layers").`
      }]
    }]
  }
}))

// Side effects have one home each: child processes the process runner, files the storage and
// the engines' workspace.
// A separate rule from the layers' so that an allow-list below never lifts a layer rule.
const CHILD_PROCESS = ['node:child_process', 'child_process'].map((name) => ({
  name, message: 'Run child processes through the process runner (docs/architecture.md).'
}))
const FILE_SYSTEM = ['node:fs', 'fs', 'node:fs/promises', 'fs/promises'].map((name) => ({
  name, message: 'Modules never touch the file system: go through storage or the engines\' workspace (docs/architecture.md).'
}))
const sideEffects = (...paths) => ['error', { paths: paths.flat() }]

export default tseslint.config(
  { ignores: ['node_modules/**', '.toolchain/**', 'data/**', 'web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
      eqeqeq: ['error', 'always'],
      'prefer-const': 'error'
    }
  },
  {
    // Server code matches regular expressions against what clients send (URLs, headers, names,
    // transcripts): none may take super-linear time, whether by backtracking or by being
    // retried at every start position. Tests and benchmarks only see their own output.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    plugins: { regexp },
    rules: {
      'regexp/no-super-linear-backtracking': 'error',
      'regexp/no-super-linear-move': 'error'
    }
  },
  {
    files: ['test/**', 'bench/**', 'src/cli/**', 'src/main.ts'],
    rules: { 'no-console': 'off' }
  },
  ...layerRules,
  {
    files: ['src/container.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/app.ts', '**/main.ts', '**/cli/**'], message: 'The wiring sits below the app assembly and the executables (docs/architecture.md).' }] }] }
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': sideEffects(CHILD_PROCESS) }
  },
  {
    files: ['src/modules/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': sideEffects(CHILD_PROCESS, FILE_SYSTEM) }
  },
  {
    // The one file that spawns: every engine and tool runs its children through it.
    files: ['src/process/run-process.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': 'off' }
  }
)
