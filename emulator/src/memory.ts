/**
 * The emulator's memory: figures for the control API and the bench, and a full garbage collection
 * after a reset that dropped a lot. V8 collects when code allocates; an emulator that has just
 * been reset and then sits idle allocates nothing, so the documents and orders a reset let go of
 * would keep their heap (and the process its RSS) until the next burst of work. Measured with
 * `npm run bench -- --throughput --separate --growth 3000`: the main thread's heap stayed at
 * 113 MB used for 30 s after the reset, 20 MB once collected.
 *
 * Used on the main thread and inside function workers (functions/worker.ts), each for its own heap.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | undefined;

/**
 * A full, memory-reducing garbage collection of this thread's heap. Node exposes `gc` only with
 * `--expose-gc`; setting the flag at run time makes it available to new contexts, so one is
 * fetched from a fresh context and the flag is set back, leaving other code's contexts as they were.
 */
export function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    try {
      gc = vm.runInNewContext('gc') as () => void;
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  }
  gc();
}

/** One heap's figures in MB. */
export interface HeapFigures {
  heapUsedMb: number;
  heapTotalMb: number;
}

const MB = 1024 * 1024;

/** This thread's heap (in a worker: the worker's own isolate). */
export function heapFigures(): HeapFigures {
  const heap = v8.getHeapStatistics();
  return { heapUsedMb: heap.used_heap_size / MB, heapTotalMb: heap.total_heap_size / MB };
}

/** The whole process (every thread) plus the main thread's heap, in MB. */
export interface ProcessMemory extends HeapFigures {
  rssMb: number;
  externalMb: number;
  arrayBuffersMb: number;
}

export function processMemory(): ProcessMemory {
  const usage = process.memoryUsage();
  return {
    rssMb: usage.rss / MB,
    ...heapFigures(),
    externalMb: usage.external / MB,
    arrayBuffersMb: usage.arrayBuffers / MB,
  };
}
