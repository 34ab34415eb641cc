import { Module } from '@nestjs/common';

/** The feedback-ml service's use cases, controllers and repositories. */
@Module({})
export class FeedbackMlModule {}
