// The error of a data set file or folder that cannot be read or is malformed.
import { TorchError } from '../errors';
import type { ErrorFields } from '../errors';

/** ERR_DATA: the message names the file or folder and what is wrong; `cause` is the system or decoder error, when one is. */
export function dataError(message: string, fields: Omit<ErrorFields, 'code'> = {}): TorchError {
  return new TorchError(message, { ...fields, code: 'ERR_DATA' });
}
