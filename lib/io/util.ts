// Small helpers shared by lib/io modules.

/** A TypeError in the library's wording, with `received` already described (e.g. 'shape [2,5]'). */
export function expectedError(name: string, expected: string, received: string): TypeError {
  return new TypeError(`Expected ${expected} for ${name} but received ${received}`);
}
