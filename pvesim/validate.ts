// Request validation hook. Every API request goes through a RequestValidator before its handler; a
// non-empty `errors` answers 400 "Parameter verification failed." with that object as is.
// The real definitions live in pvesim/params (written from the PVE 9.1 schema); until that module is
// present the router falls back to `permissiveValidator`, which accepts everything.

export type RequestParams = Record<string, string | string[]>;
export type RequestValidator = (method: string, pathTemplate: string, params: RequestParams) => { errors?: Record<string, string> };

/** Accepts every request: the stand-in while no parameter definitions are available. */
export const permissiveValidator: RequestValidator = () => ({});

/** The schema validator from ./params/index.js if it exists, else the permissive one. */
export async function loadDefaultValidator(): Promise<RequestValidator> {
  const spec = './params/index.js';
  try {
    const mod = (await import(spec)) as { validateRequest?: RequestValidator };
    if (typeof mod.validateRequest === 'function') return mod.validateRequest;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND') throw e;
  }
  return permissiveValidator;
}
