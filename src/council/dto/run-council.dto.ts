import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class CouncilIssueDto {
  @ApiProperty({ enum: ['critical', 'warning', 'info'] })
  severity: 'critical' | 'warning' | 'info';

  @ApiPropertyOptional()
  file?: string;

  @ApiPropertyOptional()
  line?: number;

  @ApiProperty()
  message: string;

  @ApiProperty({ description: 'The first judge that raised it.' })
  judge: string;

  @ApiProperty({ type: [String], description: 'Every judge that raised it (merged duplicates).' })
  judges: string[];
}

export class CouncilJudgeDto {
  @ApiProperty({ example: 'security' })
  judge: string;

  @ApiProperty({
    enum: ['APPROVE', 'REVISE', 'REJECT'],
    nullable: true,
    type: String,
    description: 'Null when the judge failed or was skipped.',
  })
  verdict: 'APPROVE' | 'REVISE' | 'REJECT' | null;

  @ApiProperty({ enum: ['completed', 'failed', 'skipped'] })
  status: 'completed' | 'failed' | 'skipped';

  @ApiProperty()
  summary: string;

  @ApiProperty({ type: [CouncilIssueDto] })
  issues: CouncilIssueDto[];

  @ApiProperty({ nullable: true, type: Number, description: "The judge's own 0-10 score; null when it gave none." })
  score: number | null;

  @ApiProperty({ description: 'True when this judge voted against the council verdict.' })
  dissent: boolean;

  @ApiProperty({ nullable: true, type: String })
  provider: string | null;

  @ApiProperty({ nullable: true, type: String })
  model: string | null;

  @ApiProperty()
  inputTokens: number;

  @ApiProperty()
  outputTokens: number;

  @ApiProperty({ example: '0.00123400', description: 'USD, decimal string.' })
  costUsd: string;

  @ApiProperty({ nullable: true, type: String })
  error: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  stepId: string | null;
}

export class CouncilVotesDto {
  @ApiProperty()
  APPROVE: number;

  @ApiProperty()
  REVISE: number;

  @ApiProperty()
  REJECT: number;
}

export class CouncilDissentDto {
  @ApiProperty()
  judge: string;

  @ApiProperty({ enum: ['APPROVE', 'REVISE', 'REJECT'] })
  verdict: 'APPROVE' | 'REVISE' | 'REJECT';
}

export class CouncilIterationDto {
  @ApiProperty()
  iteration: number;

  @ApiProperty({ enum: ['APPROVE', 'REVISE', 'REJECT'], nullable: true, type: String })
  verdict: 'APPROVE' | 'REVISE' | 'REJECT' | null;

  @ApiProperty({ enum: ['VETO', 'MAJORITY', 'TIE', 'TESTS_FAILING', 'NO_QUORUM', 'STUCK'] })
  reason: string;

  @ApiProperty({ nullable: true, type: Number })
  score: number | null;

  @ApiProperty()
  costUsd: string;

  @ApiProperty()
  createdAt: string;
}

export class RunCouncilDto {
  @ApiProperty({ format: 'uuid' })
  runId: string;

  @ApiProperty({ description: 'The iteration of the latest council review.' })
  iteration: number;

  @ApiProperty({
    enum: ['APPROVE', 'REVISE', 'REJECT'],
    nullable: true,
    type: String,
    description: 'Null only when no judge could vote.',
  })
  verdict: 'APPROVE' | 'REVISE' | 'REJECT' | null;

  @ApiProperty({ enum: ['VETO', 'MAJORITY', 'TIE', 'TESTS_FAILING', 'NO_QUORUM', 'STUCK'] })
  reason: string;

  @ApiPropertyOptional({ description: 'The judge whose veto decided (reason VETO).' })
  vetoedBy?: string;

  @ApiProperty()
  summary: string;

  @ApiProperty({
    nullable: true,
    type: Number,
    description: "0-10: mean of the judges' scores (derived from severities for a judge that gave none).",
  })
  score: number | null;

  @ApiProperty({ type: CouncilVotesDto })
  votes: CouncilVotesDto;

  @ApiProperty({ type: [CouncilDissentDto], description: 'Judges who voted against the verdict.' })
  dissent: CouncilDissentDto[];

  @ApiProperty({ type: [CouncilIssueDto], description: 'De-duplicated, most severe first.' })
  issues: CouncilIssueDto[];

  @ApiProperty({ type: [CouncilJudgeDto] })
  judges: CouncilJudgeDto[];

  @ApiProperty({ description: 'USD spent by the judges of this iteration.' })
  costUsd: string;

  @ApiProperty({ type: [CouncilIterationDto], description: 'Every council review of the run, oldest first.' })
  iterations: CouncilIterationDto[];

  @ApiProperty()
  createdAt: string;
}
