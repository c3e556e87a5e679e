import { Init1763800000000 } from './1763800000000-Init.js';
import { Auth1763801000000 } from './1763801000000-Auth.js';
import { LlmUsageAndBudgets1763802000000 } from './1763802000000-LlmUsageAndBudgets.js';
import { LlmUsageUserForeignKeys1763802000100 } from './1763802000100-LlmUsageUserForeignKeys.js';
import { TasksAndRuns1763803000000 } from './1763803000000-TasksAndRuns.js';
import { AgentCheckpoints1763803000001 } from './1763803000001-AgentCheckpoints.js';
import { RunCheckpointCleanup1763803000002 } from './1763803000002-RunCheckpointCleanup.js';
import { Webhooks1763804000000 } from './1763804000000-Webhooks.js';
import { Council1763805000000 } from './1763805000000-Council.js';
import { Repositories1763806000000 } from './1763806000000-Repositories.js';
import { RepositoryResultsCascade1763806000001 } from './1763806000001-RepositoryResultsCascade.js';
import { LlmBudgetLimitNotify1763807100000 } from './1763807100000-LlmBudgetLimitNotify.js';
import { RepositoryCommands1763811000000 } from './1763811000000-RepositoryCommands.js';
import { Organizations1763823000000 } from './1763823000000-Organizations.js';
import { AuditEvents1763823000100 } from './1763823000100-AuditEvents.js';
import { ApiKeys1763824000000 } from './1763824000000-ApiKeys.js';
import { BudgetScopes1763824000100 } from './1763824000100-BudgetScopes.js';
import { Trajectories1763826000000 } from './1763826000000-Trajectories.js';
import { PromptCachingRoutingProviderControls1763827000000 } from './1763827000000-PromptCachingRoutingProviderControls.js';
import { RetentionIndexes1763830000000 } from './1763830000000-RetentionIndexes.js';
import { RunAwaiting1763832000000 } from './1763832000000-RunAwaiting.js';
import { OrgUsageOutlivesMembers1763832000100 } from './1763832000100-OrgUsageOutlivesMembers.js';
import { BudgetSpendCounters1763833000000 } from './1763833000000-BudgetSpendCounters.js';

/** Every migration, in order (one per line, so parallel branches merge cleanly). */
export const MIGRATIONS = [
  Init1763800000000,
  Auth1763801000000,
  LlmUsageAndBudgets1763802000000,
  LlmUsageUserForeignKeys1763802000100,
  TasksAndRuns1763803000000,
  AgentCheckpoints1763803000001,
  RunCheckpointCleanup1763803000002,
  Webhooks1763804000000,
  Council1763805000000,
  Repositories1763806000000,
  RepositoryResultsCascade1763806000001,
  LlmBudgetLimitNotify1763807100000,
  RepositoryCommands1763811000000,
  Organizations1763823000000,
  AuditEvents1763823000100,
  ApiKeys1763824000000,
  BudgetScopes1763824000100,
  Trajectories1763826000000,
  PromptCachingRoutingProviderControls1763827000000,
  RetentionIndexes1763830000000,
  RunAwaiting1763832000000,
  OrgUsageOutlivesMembers1763832000100,
  BudgetSpendCounters1763833000000,
];
