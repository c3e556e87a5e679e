import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Task } from './entities/task.entity.js';
import { TaskStatusService } from './task-status.service.js';

/** What both processes need of tasks: the entity and the status transition used by runs. */
@Module({
  imports: [TypeOrmModule.forFeature([Task])],
  providers: [TaskStatusService],
  exports: [TaskStatusService],
})
export class TasksCoreModule {}
