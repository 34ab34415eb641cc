import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

/** A user's rating of one execution: 1-5, optional text and issue tags. */
export class SubmitFeedbackCommand {
  @IsInt({ message: 'rating must be an integer from 1 to 5' })
  @Min(1, { message: 'rating must be an integer from 1 to 5' })
  @Max(5, { message: 'rating must be an integer from 1 to 5' })
  rating!: number;

  @IsOptional()
  @IsString()
  @MaxLength(5000)
  text?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @Matches(/^[a-z0-9][a-z0-9_-]{0,39}$/, {
    each: true,
    message: 'issues must be short tags (lower-case letters, digits, - and _)',
  })
  issues?: string[];
}
