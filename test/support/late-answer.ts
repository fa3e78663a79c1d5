/**
 * A call that takes effect at once but whose answer comes late (a lost connection, the SDK's
 * retry): wraps `method` of a simulated service so that the first call `when` picks runs `landed`
 * right after it took effect (e.g. stops the execution), then answers `seconds` later.
 */
export const answerLate = <I>(
  service: object,
  method: string,
  when: (input: I) => boolean,
  seconds: number,
  landed: () => void,
): { fired: () => boolean } => {
  const api = service as Record<string, (input: I) => unknown>;
  const original = api[method]?.bind(service);
  if (!original) throw new Error(`answerLate: no ${method}`);
  let fired = false;
  api[method] = async (input: I) => {
    const out = await original(input);
    if (!fired && when(input)) {
      fired = true;
      landed();
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    }
    return out;
  };
  return { fired: () => fired };
};
