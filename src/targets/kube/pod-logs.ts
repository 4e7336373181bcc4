import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { logger } from '../../core/logger.ts';

const log = logger('pod-logs');

/** Where in the run dir the pods' logs are kept. */
export const POD_LOGS_DIR = 'pod-logs';

/** At most this much of one container's log is kept (its tail). */
const TAIL_BYTES = 4 * 1024 * 1024;

/** Pure: the file a container's log is kept in (`previous`: the instance before its last restart). */
export function podLogFile(pod: string, container: string, previous: boolean): string {
  return `${pod}.${container}${previous ? '.previous' : ''}.log`;
}

/**
 * Keep the logs of every container of the run's namespace (and of the instance before a restart) in
 * `dir`, before the namespace or the cluster goes away — on a passed run and on a failed one alike:
 * they are the evidence of why a stack did not sync, start or answer. Never throws: a node that is
 * gone or a container that never started leaves a note in the file instead of its log.
 */
export async function savePodLogs(kc: KubeConfig, namespace: string, dir: string): Promise<number> {
  const core = kc.makeApiClient(CoreV1Api);
  let pods;
  try {
    pods = (await core.listNamespacedPod({ namespace })).items;
  } catch (err) {
    log.warn(`pod logs of ${namespace} not kept: ${String(err)}`);
    return 0;
  }
  mkdirSync(dir, { recursive: true });
  let kept = 0;
  for (const p of pods) {
    const name = p.metadata!.name!;
    for (const c of p.status?.containerStatuses ?? []) {
      const instances = c.restartCount > 0 ? [false, true] : [false];
      for (const previous of instances) {
        let text: string;
        try {
          text = await core.readNamespacedPodLog({
            name,
            namespace,
            container: c.name,
            previous,
            limitBytes: TAIL_BYTES,
            timestamps: true,
          });
          kept++;
        } catch (err) {
          text = `(log not available: ${err instanceof Error ? err.message.split('\n')[0] : String(err)})\n`;
        }
        writeFileSync(join(dir, podLogFile(name, c.name, previous)), text);
      }
    }
  }
  return kept;
}
