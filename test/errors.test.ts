// The vocabulary of lib/errors.ts: each helper makes a TorchError whose code and fields say what
// its message says.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkOptionKeys, expectedError, invalidArgument, invalidParameterError, TorchError, unknownOptionError } from '../lib/errors';
import { torchError } from './helpers/errors';

test('invalidParameterError: ERR_INVALID_ARG naming the parameter, what was expected and the value received', () => {
  const e = invalidParameterError('options.lr', 'a non-negative number', -1);
  assert.instance(e, TorchError);
  assert.instance(e, Error);
  assert.is(e.name, 'TorchError');
  assert.equal([e.code, e.parameter, e.expected, e.received], ['ERR_INVALID_ARG', 'options.lr', 'a non-negative number', 'number -1']);
  assert.is(e.message, 'Expected a non-negative number for options.lr but received number -1');
});

test('expectedError takes the received value in words; invalidArgument its own message, fields optional', () => {
  const e = expectedError('frames[1]', 'a 4x4 frame', '2x2');
  assert.equal([e.code, e.parameter, e.received, e.message], ['ERR_INVALID_ARG', 'frames[1]', '2x2', 'Expected a 4x4 frame for frames[1] but received 2x2']);
  const a = invalidArgument('two things disagree');
  assert.equal([a.code, a.parameter, a.message], ['ERR_INVALID_ARG', undefined, 'two things disagree']);
});

test('an unknown option names where, the option and the known ones; checkOptionKeys throws it', () => {
  const e = unknownOptionError('zeros()', 'dtyp', ['dtype', 'device']);
  assert.equal([e.parameter, e.expected, e.received], ['zeros() options', 'one of: dtype, device', "'dtyp'"]);
  assert.is(e.message, "Unknown option 'dtyp' for zeros(); expected one of: dtype, device");
  const thrown = torchError(() => checkOptionKeys('zeros()', { dtyp: 1 }, ['dtype', 'device']));
  assert.equal([thrown.code, thrown.message], [e.code, e.message]);
  assert.not.throws(() => checkOptionKeys('zeros()', { dtype: 1 }, ['dtype', 'device']));
});

test('TorchError: ERR_TORCH when no code is given; the cause is kept', () => {
  const cause = new Error('below');
  const e = new TorchError('x', { cause });
  assert.is(e.code, 'ERR_TORCH');
  assert.is(e.cause, cause);
});

test.run();
