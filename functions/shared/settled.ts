/**
 * The value of a read run side by side with others (`Promise.allSettled`), or its error. A step that
 * starts its independent reads together unwraps them in the order its checks are judged, so a
 * release with several problems reports the same first one as when the reads ran one by one.
 */
export const settled = <T>(result: PromiseSettledResult<T>): T => {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
};
