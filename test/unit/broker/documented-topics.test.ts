import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canPublish, canSubscribe } from '../../../broker/topics.js';

/**
 * The topics the docs tell people to type must be ones the broker's ACL allows, and test
 * messages must not look like signaling (issue 9, item 18: `up/hello` read as the hello topic).
 */

const root = path.resolve(import.meta.dirname, '../../..');
const files = ['README.md', ...readdirSync(path.join(root, 'docs')).map((f) => path.join('docs', f))].filter(
  (f) => f.endsWith('.md'),
);

interface Command {
  file: string;
  tool: 'mosquitto_pub' | 'mosquitto_sub';
  user: string;
  topic: string;
}

/** Every mosquitto_pub/mosquitto_sub command line in the docs, with its -u and -t values. */
function documentedCommands(): Command[] {
  const commands: Command[] = [];
  for (const file of files) {
    for (const line of readFileSync(path.join(root, file), 'utf8').split('\n')) {
      const tool = /^\s*(mosquitto_pub|mosquitto_sub)\s/.exec(line)?.[1] as Command['tool'] | undefined;
      if (!tool) continue;
      const arg = (flag: string) => new RegExp(`\\s${flag}\\s+'?([^'\\s]+)'?`).exec(line)?.[1];
      commands.push({ file, tool, user: arg('-u') ?? '', topic: arg('-t') ?? '' });
    }
  }
  return commands;
}

describe('topics in the docs', () => {
  const commands = documentedCommands();

  it('finds the examples of the README and docs/mqtt-topics.md', () => {
    expect(new Set(commands.map((c) => c.file))).toEqual(new Set(['README.md', 'docs/mqtt-topics.md']));
    expect(commands.length).toBeGreaterThanOrEqual(4);
  });

  it('are allowed by the ACL for the device that uses them', () => {
    for (const c of commands) {
      const identity = { kind: 'device' as const, deviceId: c.user, generation: 1 };
      const allowed =
        c.tool === 'mosquitto_pub'
          ? canPublish('lookout', identity, c.topic)
          : canSubscribe('lookout', identity, c.topic);
      expect([c.file, c.tool, c.topic, allowed]).toEqual([c.file, c.tool, c.topic, true]);
    }
  });

  it('publish test messages on a topic that is not signaling and does not look like it', () => {
    for (const c of commands.filter((command) => command.tool === 'mosquitto_pub')) {
      expect(c.topic, `${c.file}: ${c.topic}`).not.toMatch(/\/up\/(signal|hello)$/);
    }
  });

  it('never name an up/hello topic: hello is a message on up/signal', () => {
    for (const file of files) {
      expect(readFileSync(path.join(root, file), 'utf8'), file).not.toMatch(/up\/hello/);
    }
  });
});
