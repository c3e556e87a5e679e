import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
// The root module alone, not the package index: the index also loads the feature module, whose
// require() of the ESM @nestjs/bull-shared the jest runtime refuses as a cycle (Node itself accepts it).
// The feature module is not needed: QueueDashboardQueues adds the queues to the board itself.
import { InjectBullBoard } from '@bull-board/nestjs/dist/bull-board.decorator.js';
import { BullBoardRootModule } from '@bull-board/nestjs/dist/bull-board.root-module.js';
import type { BullBoardInstance } from '@bull-board/nestjs/dist/bull-board.types.js';
import { getQueueToken } from '@nestjs/bullmq';
import { Injectable, Module, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bullmq';
import { AuthModule } from '#src/auth/auth.module.js';
import { JwtAuthGuard } from '#src/auth/guards/jwt-auth.guard.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { QueueName } from '#src/queue/queue.constants.js';
import { QUEUE_DASHBOARD_PATH, queueDashboardAccess } from './queue-dashboard.access.js';

/** Every queue of Quorum on the board; read-only unless QUEUE_DASHBOARD_ACTIONS=true. */
@Injectable()
export class QueueDashboardQueues implements OnModuleInit {
  constructor(
    @InjectBullBoard() private readonly board: BullBoardInstance,
    private readonly moduleRef: ModuleRef,
    private readonly config: ConfigService<AllConfig, true>,
  ) {}

  onModuleInit(): void {
    const readOnlyMode = !this.config.get('observability', { infer: true }).queueDashboard.actions;
    for (const name of Object.values(QueueName)) {
      const queue = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
      this.board.addQueue(new BullMQAdapter(queue, { readOnlyMode, allowRetries: !readOnlyMode }));
    }
  }
}

/**
 * Bull Board at /admin/queues (API process): agent runs, webhook deliveries and maintenance, for
 * admins signed in with a Bearer access token or a cookie session; everyone else gets a 404.
 */
@Module({
  imports: [
    BullBoardRootModule.forRootAsync({
      imports: [AuthModule],
      inject: [JwtAuthGuard, ConfigService],
      useFactory: (auth: JwtAuthGuard, config: ConfigService<AllConfig, true>) => ({
        route: `/${QUEUE_DASHBOARD_PATH}`,
        adapter: ExpressAdapter,
        boardOptions: { uiConfig: { boardTitle: 'Quorum queues' } },
        middleware: queueDashboardAccess(
          (req) => auth.authenticate(req),
          config.get('observability', { infer: true }).queueDashboard.actions,
        ),
      }),
    }),
  ],
  providers: [QueueDashboardQueues],
})
export class QueueDashboardModule {}
