// The mixed-layer model of the nn fixture (scripts/fixtures/make_nn_fixtures.py: model_a).
import { nn } from '../../lib';

export function modelA() {
  return new nn.Sequential(
    new nn.Conv2d(2, 4, 3, { stride: 2, padding: 1 }),
    new nn.BatchNorm2d(4),
    new nn.LeakyReLU(0.2),
    new nn.ConvTranspose2d(4, 3, 4, { stride: 2, padding: 1, bias: false }),
    new nn.InstanceNorm2d(3, { affine: true, trackRunningStats: true }),
    new nn.Tanh(),
    new nn.LayerNorm([3, 8, 8]),
    new nn.Flatten(),
    new nn.Linear(192, 5),
  );
}
