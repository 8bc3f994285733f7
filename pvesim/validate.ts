// Request validation hook. Every API request goes through a RequestValidator before its handler; a
// non-empty `errors` answers 400 "Parameter verification failed." with that object as is.
// The default is the schema validator of pvesim/params (PVE 9.1's parameter definitions);
// `permissiveValidator` accepts everything (for experiments with endpoints' edge cases).
import { validateRequest } from './params/index.js';

export type RequestParams = Record<string, string | string[]>;
export type RequestValidator = (method: string, pathTemplate: string, params: RequestParams) => { errors?: Record<string, string> };

/** Accepts every request. */
export const permissiveValidator: RequestValidator = () => ({});

/** Checks parameters as a Proxmox VE 9.1 node does (pvesim/params). */
export const defaultValidator: RequestValidator = validateRequest;
