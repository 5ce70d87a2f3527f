/**
 * Settles as `work` settles, or rejects with `timeoutError()` after `ms`: the one deadline
 * for a call to a service that may stop answering (the store, Redis, the invalidation
 * channel). The work itself runs on; a late result is ignored.
 */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  timeoutError: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timeoutError()), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
