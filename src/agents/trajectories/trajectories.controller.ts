import { Controller, Get, Param, ParseUUIDPipe, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { KeyScope } from '#src/auth/decorators/api-key-access.decorator.js';
import { Authorize } from '#src/orgs/authorize.decorator.js';
import { RunsService } from '#src/agents/runs/runs.service.js';
import { TrajectoryPageDto, TrajectoryQueryDto } from './dto/trajectory.dto.js';
import { TrajectoriesService } from './trajectories.service.js';

@ApiTags('agent runs')
@ApiBearerAuth('bearer')
@KeyScope('runs')
@Controller('agents/runs')
export class TrajectoriesController {
  constructor(
    private readonly runs: RunsService,
    private readonly trajectories: TrajectoriesService,
  ) {}

  @Get(':id/trajectory')
  @ApiOperation({
    summary: "The run's model calls and tool calls in order (?limit&cursor); ?format=jsonl streams all of it",
  })
  @ApiOkResponse({ type: TrajectoryPageDto })
  @ApiProduces('application/json', 'application/x-ndjson')
  @Authorize('run', 'read')
  async get(
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: TrajectoryQueryDto,
    @Res() res: Response,
  ): Promise<void> {
    await this.runs.get(id);
    if (query.format === 'jsonl') await this.stream(id, res);
    else res.json(await this.trajectories.page(id, query.limit ?? 20, query.cursor));
  }

  private async stream(runId: string, res: Response): Promise<void> {
    res.status(200);
    res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="trajectory-${runId}.jsonl"`);
    res.setHeader('Cache-Control', 'no-store');
    try {
      for await (const item of this.trajectories.export(runId)) {
        if (res.destroyed) return;
        if (!res.write(`${JSON.stringify(item)}\n`))
          await new Promise((resolve) => {
            res.once('drain', resolve);
            res.once('close', resolve);
          });
      }
    } finally {
      res.end();
    }
  }
}
