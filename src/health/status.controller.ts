import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { Roles } from '#src/auth/decorators/roles.decorator.js';
import { SystemStatus, SystemStatusService } from './system-status.service.js';

/** Apart from HealthController, whose routes are public: this one is for admins only. */
@ApiTags('health')
@ApiBearerAuth('bearer')
@SkipThrottle()
@Controller('health')
export class StatusController {
  constructor(private readonly status: SystemStatusService) {}

  @Get('status')
  @Roles('admin')
  @ApiOperation({
    summary:
      'System status (admin): version, uptime, memory, event-loop delay, queue counts, workers online, circuit breakers, database pool, maintenance runs',
  })
  get(): Promise<SystemStatus> {
    return this.status.status();
  }
}
