import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MailModule } from '#src/mail/mail.module.js';
import { UsersModule } from '#src/users/users.module.js';
import { WebhooksCoreModule } from '#src/webhooks/webhooks-core.module.js';
import { BudgetAlertsService } from './budget-alerts.service.js';
import { BudgetService } from './budget.service.js';
import { BudgetReservation } from './entities/budget-reservation.entity.js';
import { Budget } from './entities/budget.entity.js';
import { LlmUsageRecord } from './entities/llm-usage.entity.js';
import { UsageService } from './usage.service.js';

/** Usage records and budgets, without HTTP: imported by the LLM gateway in both processes. */
@Module({
  imports: [
    TypeOrmModule.forFeature([LlmUsageRecord, Budget, BudgetReservation]),
    UsersModule,
    WebhooksCoreModule,
    MailModule,
  ],
  providers: [UsageService, BudgetService, BudgetAlertsService],
  exports: [UsageService, BudgetService],
})
export class MetricsCoreModule {}
