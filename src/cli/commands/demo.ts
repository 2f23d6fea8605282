// mlops demo: the whole loop on the bundled example, narrated step by step.
import { defineCommand } from '../command.js';

export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'run the whole loop on the bundled fraud example in a temp registry (a few seconds)',
  options: [{ flags: '--keep <dir>', description: 'keep the registry, prediction log and drift report in DIR for exploring' }],
  examples: ['mlops demo', 'mlops demo --keep ./demo'],
  async run(ctx, _args, options) {
    const { runDemo } = await import('../../demo/demo.js');
    const { resolve } = await import('node:path');
    const { ui } = ctx;
    // Ctrl-C stops the demo's servers and removes its temp folder before exiting 130.
    const abort = new AbortController();
    void ctx.stopRequested.then(() => abort.abort());
    const result = await runDemo({
      signal: abort.signal,
      runner: ctx.runner,
      env: ctx.env,
      keepDir: options.keep ? resolve(ctx.cwd, options.keep) : undefined,
      onEvent: (event) => {
        if (ui.json) return;
        if (event.type === 'step') ui.out(`\n${ui.c.bold.cyan(event.title)}`);
        else if (event.type === 'command') ui.out(ui.c.dim(`$ ${event.argv.map((a) => (/[\s'>=<]/.test(a) ? `'${a}'` : a)).join(' ')}`));
        else if (event.type === 'output') {
          if (event.text) ui.out(event.text.replace(/^/gm, '  '));
          if (event.exitCode !== 0) ui.out(ui.c.yellow(`  (exit code ${event.exitCode})`));
        } else ui.out(ui.c.green(`  → ${event.text}`));
      },
    });
    if (ui.json) return ui.printJson(result);
    ui.out(`\n${ui.c.bold('Done')} in ${result.seconds.toFixed(1)} s: ${result.steps} steps, ${result.requests} predictions served.`);
    ui.out(result.kept ? `The registry is in ${result.registry}; try: mlops --registry ${result.registry} list` : 'The temp registry was removed; pass --keep DIR to explore it.');
  },
});
