/**
 * Prefetching of batches whose native work starts as they are asked for: the one loop behind
 * BatchDataLoader and @tvl/nvvl's SequenceLoader.batches. It keeps `prefetch + 1` batches loading
 * at first; then, each time it hands one out, it first starts the next `prefetch` and waits until
 * their native calls have started, so they go on while the caller's step blocks the thread.
 * However the loop ends (to the end, break, an error), batches loaded but not handed out are
 * disposed.
 */

/** A batch whose loading has begun. */
export interface StartedBatch<T> {
  /** Resolves once every native call of the batch has been started. */
  started: Promise<void>;
  done: Promise<T>;
}

const ignore = (): void => undefined;

/**
 * @param next     starts the next batch, or says there is none (undefined)
 * @param dispose  frees a batch that was loaded but never handed out
 * @param aborted  an error to stop with before handing out the next batch, if any
 */
export async function* prefetchBatches<T>(
  next: () => StartedBatch<T> | undefined | Promise<StartedBatch<T> | undefined>,
  prefetch: number,
  dispose: (batch: T) => void,
  aborted: () => Error | undefined = () => undefined,
): AsyncGenerator<T> {
  const ahead: StartedBatch<T>[] = [];
  let exhausted = false;
  const fill = async (limit: number) => {
    while (!exhausted && ahead.length < limit) {
      const start = await next();
      if (start === undefined) {
        exhausted = true;
        break;
      }
      // Observed when their turn comes; never an unhandled rejection.
      start.started.catch(ignore);
      start.done.catch(ignore);
      ahead.push(start);
    }
  };
  try {
    await fill(prefetch + 1);
    while (ahead.length > 0) {
      const error = aborted();
      if (error) throw error;
      const batch = await ahead.shift()!.done;
      // While the caller has this batch, `prefetch` batches load (none with prefetch 0), their
      // native calls started before the caller gets it.
      await fill(prefetch);
      await Promise.all(ahead.map((b) => b.started.catch(ignore)));
      yield batch;
      await fill(1);
    }
  } finally {
    for (const start of ahead.splice(0)) start.done.then(dispose, ignore);
  }
}
