// The git adapter: exact argv, and what a registered file's source says in and out of a repo.
import { describe, expect, it } from 'vitest';
import { ToolMissingError } from '../../src/errors.js';
import { sourceOf } from '../../src/tools/git.js';
import { RecordingRunner } from '../support/recording-runner.js';

describe('sourceOf', () => {
  it('records the commit and whether the file is modified', async () => {
    const runner = new RecordingRunner()
      .on(['-C', '/repo/models', 'rev-parse'], { stdout: 'a1b2c3\n' })
      .on(['-C', '/repo/models', 'status'], { stdout: ' M model.onnx\n' });
    expect(await sourceOf(runner, '/repo', 'models/model.onnx')).toEqual({ path: '/repo/models/model.onnx', git_commit: 'a1b2c3', git_dirty: true });
    expect(runner.commands).toEqual([
      ['git', '-C', '/repo/models', 'rev-parse', 'HEAD'],
      ['git', '-C', '/repo/models', 'status', '--porcelain', '--', '/repo/models/model.onnx'],
    ]);
  });

  it('is just the path outside a repository or without git', async () => {
    const outside = new RecordingRunner().on(['-C'], { exitCode: 128, stderr: 'fatal: not a git repository' });
    expect(await sourceOf(outside, '/tmp', 'm.onnx')).toEqual({ path: '/tmp/m.onnx' });
    const noGit = new RecordingRunner().on([], { error: new ToolMissingError('git', 'install git') });
    expect(await sourceOf(noGit, '/tmp', '/abs/m.onnx')).toEqual({ path: '/abs/m.onnx' });
  });
});
