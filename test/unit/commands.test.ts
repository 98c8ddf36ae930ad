/** The order act runs commands in (lib/core/commands.ts). */
import { describe, expect, it } from 'vitest';
import { commandTarget, sortCommands, type Command } from '../../lib/core/commands.ts';

const scale = (nodeGroup: string): Command => ({ kind: 'scale-node-group', cluster: 'c', nodeGroup, fromNodes: 2, toNodes: 8, reason: '' });
const floor = (service: string): Command => ({ kind: 'set-hpa-floor', cluster: 'c', namespace: 'prod', service, fromMinReplicas: 1, toMinReplicas: 15, reason: '' });
const manifest = (name: string): Command => ({ kind: 'apply-manifest', cluster: 'c', apiVersion: 'v1', objectKind: 'ConfigMap', namespace: 'prod', name, manifest: {}, reason: '' });

describe('sortCommands', () => {
  it.each<[string, Command[], string[]]>([
    // "c/hpa/…" sorts before "c/nodegroup/…" by name: capacity still goes first
    ['node groups before the HPA floors that schedule pods onto them', [floor('api'), scale('web')], ['c/nodegroup/web', 'c/hpa/prod/api']],
    // within each rank, by target
    ['then by target', [floor('web'), manifest('x'), scale('web'), floor('api'), scale('general')], ['c/nodegroup/general', 'c/nodegroup/web', 'c/hpa/prod/api', 'c/hpa/prod/web', 'c/manifest/v1/ConfigMap/prod/x']],
  ])('%s', (_name, commands, expected) => {
    expect(sortCommands(commands).map(commandTarget)).toEqual(expected);
    expect(sortCommands([...commands].reverse()).map(commandTarget)).toEqual(expected);
  });
});
