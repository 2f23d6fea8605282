// mlops init --ci github: writes the deploy workflow from templates/ (filled in later).
import { UsageError } from '../errors.js';

export async function writeCiWorkflow(options: { provider: string; projectDir: string; registryDir: string }): Promise<string> {
  throw new UsageError(`--ci ${options.provider} is not available yet`, 'write the workflow by hand for now');
}
