import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import type { Job } from 'bullmq';
import type { RunGraphService } from '#src/agents/graph/run-graph.service.js';
import type { ProviderRegistry } from '#src/agents/llm/provider-registry.js';
import type { RunProgressService } from '#src/agents/runs/run-progress.service.js';
import type { RunsService } from '#src/agents/runs/runs.service.js';
import type { TrajectoryRecorder } from '#src/agents/trajectories/trajectory-recorder.service.js';
import type { AllConfig } from '#src/config/namespaces.js';
import type { JobName, JobOf } from '#src/queue/queue.constants.js';
import type { RedisFactory } from '#src/redis/redis.factory.js';
import { AgentRunProcessor } from './agent-run.processor.js';
import type { RunCancellationService } from './run-cancellation.service.js';

describe('AgentRunProcessor.onFailed', () => {
  function processor(runs: Partial<RunsService>, progress: Partial<RunProgressService> = {}) {
    const config = { get: () => ({}) } as unknown as ConfigService<AllConfig, true>;
    return new AgentRunProcessor(
      config,
      {} as RedisFactory,
      {} as RunGraphService,
      progress as RunProgressService,
      runs as RunsService,
      {} as RunCancellationService,
      {} as ProviderRegistry,
      {} as TrajectoryRecorder,
    );
  }
  const job = { id: 'j1', data: { runId: 'r1' }, getState: () => Promise.resolve('failed') } as unknown as Job<
    JobOf<JobName.AgentRun>
  >;

  afterEach(() => jest.restoreAllMocks());

  it('with the database down, logs the failure with the job and run and never rejects', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const down = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    await expect(
      processor({ findById: () => Promise.reject(down) }).onFailed(job, new Error('stalled')),
    ).resolves.toBeUndefined();
    expect(logged).toHaveBeenCalledWith(
      expect.objectContaining({ err: down, jobId: 'j1', runId: 'r1', jobError: 'stalled' }),
      'could not mark the run of a failed job as failed',
    );
  });

  it('marks the run failed when the database answers', async () => {
    const run = { id: 'r1' };
    const fail = jest.fn(() => Promise.resolve());
    await processor({ findById: () => Promise.resolve(run) } as never, { fail }).onFailed(job, new Error('stalled'));
    expect(fail).toHaveBeenCalledWith(run, 'AGENT_FAILED', 'The run could not be processed: stalled');
  });
});
