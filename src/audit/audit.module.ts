import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller.js';
import { AuditEventsService } from './audit-events.service.js';

/** GET /audit-events (AuditService, the writer, is in AuditCoreModule). */
@Module({
  controllers: [AuditController],
  providers: [AuditEventsService],
})
export class AuditModule {}
