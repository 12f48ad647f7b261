export { GIB, hostSamplesFor, type FleetSource, type FleetTick, type SimHost, type SimVm } from './fleet.ts';
export { SyntheticFleet, type SyntheticFleetOptions } from './synthetic.ts';
export { PlanetLabReplay, type PlanetLabOptions } from './planetlab.ts';
export { malformedVariant, type Malformed } from './malformed.ts';
export { SamplePublisher, type PublishStats } from './publisher.ts';
export { runFleet, type RunOptions } from './runner.ts';
export { seededRandom } from '../core/index.ts';
