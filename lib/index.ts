// torch-gan: GAN training in Node on libtorch.
export * from './tensor';
export * as autograd from './autograd';
export { noGrad, enableGrad, autocast } from './autograd';
export * as F from './nn/functional';
export { TorchError } from './errors';
export type { ErrorFields } from './errors';
import { expectedError } from './errors';
export * as nn from './nn';
export * as optim from './optim';
export { diagnostics, setFastKernels } from './diagnostics';
export type { Diagnostics } from './diagnostics';
export { profileOps, startProfiler, stopProfiler, formatOpProfile } from './profiler';
export type { OpProfile, OpProfileRow, ProfilerOptions } from './profiler';
export { saveSafetensors, loadSafetensors, readSafetensorsHeader } from './io/safetensors';
export { saveModule, loadModule, saveOptimizer, loadOptimizer } from './io/state';
export type { SafetensorsHeader, SafetensorsEntry, LoadSafetensorsOptions } from './io/safetensors';
export * as data from './data';
export { DistributedSampler } from './data';
export { TensorDataLoader, loadMnist, loadFashionMnist, loadCifar10, loadImageFolder, loadDataset, readIdxImages, readIdxLabels } from './data';
export { ToySampler, sampleToy, toyTensor, toyCenters, modeStats, EIGHT_GAUSSIANS_CENTERS, TWENTY_FIVE_GAUSSIANS_CENTERS } from './data';
export type { ImageDataset, MnistDataset, TensorDataLoaderOptions, LoaderState, LoaderBatch, ToyName } from './data';
export { writeFileAtomic, writeFileAtomicAsync, writeJsonAtomic } from './io/atomic';
export { encodePng, decodePng, imageGrid, imageGridPixels, saveImageGrid } from './io/png';
export type { ImageGridOptions } from './io/png';
export { linePlotSvg, scatterPlotSvg, svgToPng, saveLinePlot, saveScatterPlot } from './io/svg-plot';
export type { LinePlotOptions, LineSeries, ScatterPlotOptions } from './io/svg-plot';
export { encodeGif, writeGif } from './io/gif';
export type { GifOptions, GifFrame } from './io/gif';
export { SummaryWriter } from './io/tensorboard';
export type { SummaryWriterOptions, SummaryImageSize } from './io/tensorboard';
export * as gan from './gan';
export { GanTrainer, recipes, trainerFromRecipe, dcganGenerator, dcganCritic, toyGenerator, toyCritic, gradientPenalty, draganPenalty, clipWeights_ } from './gan';
export type { GanTrainerOptions, StepStats, TrainerLoss, Recipe, PenaltyResult } from './gan';
export {
  GeneratorEma, r1Penalty, r2Penalty, leastSquaresCriticLoss, leastSquaresGeneratorLoss, diffAugment, withDiffAugment, truncatedNoise,
  ConditionalGenerator, ProjectionCritic, AuxiliaryClassifierCritic, conditionalDcganGenerator, projectionDcganCritic, auxiliaryClassifierLoss,
} from './gan';
export type { GeneratorEmaOptions, ZeroCentredPenaltyOptions, DiffAugmentOptions, DiffAugmentDraws, DiffAugmentOp } from './gan';
export { spectralNorm, cloneModule } from './nn';
export { TrainingWorker, GeneratorSampler, TrainingRun, openRun, prepareRun, resolveRunConfig, runArtefacts, tensorBoardLog, RUN_OPTIONS } from './gan';
export type { RunSpec, RunConfig, RunObserver, TrainOptions, TrainEnd, RunEvent, RunOptions, StartOptions, SampleOptions, SampleTensorData, TrainingStatus } from './gan';
export * as metrics from './metrics';
export * as distributed from './distributed';
export { Classifier, loadClassifier, classifierOutputs, frechetDistance, kernelInceptionDistance, classifierScore, totalVariationDistance, qualityReference, evaluateGenerator, qualityCallback } from './metrics';
export type { QualityReport, QualityReference, FeatureMatrix } from './metrics';

/**
 * Runs a torch-gan command as `npx torch-gan` does (`['train', '--dset', 'fashion', '--iters', '50']`;
 * also 'generate', 'evaluate'); flags as on the command line. Loaded on first use: the CLI sits
 * above everything else.
 */
export function cli(argv: string[]): void {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const m = require('./cli/main') as typeof import('./cli/main');
  if (!m.main(argv)) throw expectedError('cli() argv[0]', `a command (${Object.keys(m.COMMANDS).filter((c) => c !== 'doctor').join(', ')})`, JSON.stringify(argv[0]) ?? 'undefined');
}

/** The command line's flag vocabulary, for scripts of your own in the style of `npx torch-gan` (examples/service.ts). */
export { runCli, parseFlags, givenFlags, helpText, usageError, isUsageError } from './cli/args';
export type { FlagSpec, FlagSpecs, ParsedFlags } from './cli/args';
