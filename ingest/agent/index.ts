export { HostAgent, type HostAgentOptions, type StepReport, type RunOptions } from './host-agent.ts';
export { VirshDomainReader, parseDomStats, domainMemory, DOMSTATS_ARGS, type DomainReader, type DomainObservation, type DomainsObservation, type BalloonKiB } from './domstats.ts';
export { readHostObservation, localProcfs, parseProcStat, parseMeminfo, parseLoadavg, parseNetDev, parseDiskstats, countedDisk, type HostObservation, type ProcfsIo, type CpuTimes, type ByteCounters, type LoadAverages } from './procfs.ts';
export { counterRate, deviceRates, type DeviceRates } from './rates.ts';
export { buildHostSample, buildVmSample, type NoSample } from './samples.ts';
export { AgentMetrics, serveMetrics, type MetricsServer, type ReadSource } from './metrics.ts';
