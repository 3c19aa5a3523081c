/** findLauncher / launcherGone over a process table written as data. */
import { expect, test } from '@jest/globals';
import { findLauncher, launcherGone, type ProcessTable } from '../../src/cli/launcher.js';

function table(procs: Record<number, [ppid: number, comm: string]>): ProcessTable {
  return { parentOf: (pid) => procs[pid]?.[0], commOf: (pid) => procs[pid]?.[1] };
}

test('npx: npm exec → sh → kpx; npm killed: the shell is orphaned, kpx sees the launcher gone', () => {
  const running = table({ 100: [50, 'npm exec kpx ru'], 200: [100, 'sh'], 300: [200, 'node'] });
  const link = findLauncher(300, 200, running);
  expect(link).toEqual({ child: 200, launcher: 100 });
  expect(launcherGone(link, running)).toBe(false);
  // npm SIGKILLed: sh re-parented to init, still alive; kpx's own parent unchanged.
  expect(launcherGone(link, table({ 200: [1, 'sh'], 300: [200, 'node'] }))).toBe(true);
});

test('npm as the direct parent', () => {
  const link = findLauncher(300, 100, table({ 100: [50, 'npm exec kpx ru'], 300: [100, 'node'] }));
  expect(link).toEqual({ child: 300, launcher: 100 });
  expect(launcherGone(link, table({ 300: [1, 'node'] }))).toBe(true);
});

test('not npm (a shell script, systemd): the parent is the launcher; its grandparent dying does not matter', () => {
  const procs = table({ 40: [1, 'bash'], 200: [40, 'sh'], 300: [200, 'node'] });
  const link = findLauncher(300, 200, procs);
  expect(link).toEqual({ child: 300, launcher: 200 });
  expect(launcherGone(link, table({ 200: [1, 'sh'], 300: [200, 'node'] }))).toBe(false);
});
