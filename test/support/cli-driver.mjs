// Runs many `mlops` command lines in one process, for the hostile-input tests: node
// starts once instead of once per case. Each case is run(argv) from the built CLI with
// its own cwd, env changes and captured stdout/stderr; a case that crashes the
// process ends the driver, which the test sees (the last case started is named).
// Usage: node cli-driver.mjs CASES.json RESULTS.jsonl
import { appendFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [casesFile, resultsFile] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
const { run } = await import(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)));

const realOut = process.stdout.write.bind(process.stdout);
const realErr = process.stderr.write.bind(process.stderr);
const CASE_TIMEOUT_MS = 20_000;

for (const [index, testCase] of cases.entries()) {
  appendFileSync(resultsFile, `${JSON.stringify({ started: index })}\n`);
  let stdout = '';
  let stderr = '';
  process.stdout.write = (chunk, ...rest) => {
    stdout += String(chunk);
    const callback = rest.find((item) => typeof item === 'function');
    if (callback) callback();
    return true;
  };
  process.stderr.write = (chunk, ...rest) => {
    stderr += String(chunk);
    const callback = rest.find((item) => typeof item === 'function');
    if (callback) callback();
    return true;
  };
  const saved = {};
  for (const [key, value] of Object.entries(testCase.env ?? {})) {
    saved[key] = process.env[key];
    if (value === null) delete process.env[key];
    else process.env[key] = value;
  }
  process.chdir(testCase.cwd);
  process.exitCode = undefined;
  let outcome = 'done';
  let timer;
  try {
    outcome = await Promise.race([run(testCase.argv).then(() => 'done'), new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), CASE_TIMEOUT_MS)))]);
  } catch (error) {
    outcome = 'threw';
    stderr += `\n[driver] run() threw: ${error?.stack ?? error}`;
  } finally {
    clearTimeout(timer);
    process.stdout.write = realOut;
    process.stderr.write = realErr;
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  appendFileSync(resultsFile, `${JSON.stringify({ index, argv: testCase.argv, outcome, exitCode: process.exitCode ?? 0, stdout, stderr })}\n`);
}
process.exitCode = 0;
