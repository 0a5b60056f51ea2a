package dev.snapstash.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaConstructorCall;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.snapstash.core.engine.BackupEngine;
import dev.snapstash.core.engine.BackupStore;
import dev.snapstash.core.engine.Journal;
import dev.snapstash.core.engine.Pruner;
import dev.snapstash.core.engine.RecoverEngine;
import dev.snapstash.core.engine.RestoreEngine;
import dev.snapstash.core.engine.RunGuard;
import dev.snapstash.core.engine.VerifyEngine;
import dev.snapstash.core.spi.Provider;
import dev.snapstash.core.spi.Providers;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The verbs parse options, call {@link dev.snapstash.core.api.Snapstash} and print: they build no engine, open no
 * store and choose no strategy, so that what a verb does is what the facade does for any other caller.
 */
class ThinCliTest {
  private static final JavaClasses CLI =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("dev.snapstash.cli");

  private static final Set<String> BEHIND_THE_FACADE =
      Set.of(
          BackupEngine.class.getName(), RestoreEngine.class.getName(), VerifyEngine.class.getName(),
          RecoverEngine.class.getName(), Pruner.class.getName(), BackupStore.class.getName(),
          RunGuard.class.getName(), Journal.class.getName());

  @Test
  void theCliBuildsNoEngineAndNoStore() {
    noClasses()
        .should()
        .callConstructorWhere(
            DescribedPredicate.describe(
                "an engine, the store or its guard",
                (JavaConstructorCall call) -> BEHIND_THE_FACADE.contains(call.getTargetOwner().getName())))
        .check(CLI);
  }

  @Test
  void theCliChoosesNoStrategy() {
    noClasses().should().dependOnClassesThat().belongToAnyOf(Providers.class, Provider.class).check(CLI);
  }
}
