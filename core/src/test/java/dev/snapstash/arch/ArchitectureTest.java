package dev.snapstash.arch;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.fields;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Keeps the dependency rules of STYLE.md honest: core knows nothing of the CLI, AWS or the sandbox. */
class ArchitectureTest {
  private static final JavaClasses CORE =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("dev.snapstash.core", "dev.snapstash.strategy");

  @Test
  void coreDoesNotDependOnCliAwsOrSandbox() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("dev.snapstash.cli..", "dev.snapstash.sandbox..", "dev.snapstash.aws..", "picocli..", "ch.qos.logback..", "software.amazon..")
        .check(CORE);
  }

  @Test
  void onlyTheProcessRunnerStartsProcesses() {
    noClasses()
        .that()
        .resideOutsideOfPackage("dev.snapstash.core.process..")
        .should()
        .dependOnClassesThat()
        .haveFullyQualifiedName(ProcessBuilder.class.getName())
        .check(CORE);
  }

  @Test
  void strategiesDoNotDependOnEachOther() {
    for (String kind : new String[] {"disk", "database", "quiesce", "notify"}) {
      noClasses()
          .that()
          .resideInAPackage("dev.snapstash.strategy." + kind + "..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(
              java.util.Arrays.stream(new String[] {"disk", "database", "quiesce", "notify"})
                  .filter(k -> !k.equals(kind))
                  .map(k -> "dev.snapstash.strategy." + k + "..")
                  .toArray(String[]::new))
          .allowEmptyShould(true)
          .check(CORE);
    }
  }

  /** Each strategy is one package; one never reaches into another (shared code lives one level up, per kind). */
  @Test
  void strategyPackagesDoNotDependOnEachOther() {
    slices().matching("dev.snapstash.strategy.(*).(*)..").should().notDependOnEachOther().check(CORE);
  }

  /** A strategy sees the engine only through the SPI, so the engine can change without touching it. */
  @Test
  void strategiesSeeTheEngineOnlyThroughTheSpi() {
    noClasses()
        .that()
        .resideInAPackage("dev.snapstash.strategy..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("dev.snapstash.core.engine..")
        .check(CORE);
  }

  /** The engine and everything else in core never names a strategy: they are found through the providers. */
  @Test
  void coreNamesNoStrategy() {
    noClasses()
        .that()
        .resideInAPackage("dev.snapstash.core..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("dev.snapstash.strategy..")
        .check(CORE);
  }

  /** The SPI is what strategies build on; it must not pull the engine in behind them. */
  @Test
  void theSpiDoesNotDependOnTheEngine() {
    noClasses()
        .that()
        .resideInAPackage("dev.snapstash.core.spi..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("dev.snapstash.core.engine..")
        .check(CORE);
  }

  /**
   * A database strategy is built once and serves every run: what a run needs between its steps lives in its {@code
   * Run} and {@code Pending}, never in the strategy's fields, which are its configuration and final.
   */
  @Test
  void databaseStrategiesKeepNoRunState() {
    fields()
        .that()
        .areDeclaredInClassesThat()
        .implement(dev.snapstash.core.spi.DatabaseStrategy.class)
        .and()
        .areNotStatic()
        .should()
        .beFinal()
        .andShould()
        .notHaveRawType(resideInAPackage("java.util.concurrent.atomic.."))
        .because("run state belongs in a DatabaseStrategy.Run or Pending, which live as long as the run (issue 18)")
        .check(CORE);
  }

  /** One place builds a restore engine (the facade), so a restore, a drill and the quickstart restore alike. */
  @Test
  void onlyTheFacadeBuildsARestoreEngine() {
    String engine = dev.snapstash.core.engine.RestoreEngine.class.getName();
    noClasses()
        .that()
        .resideOutsideOfPackage("dev.snapstash.core.api..")
        .and()
        .doNotHaveFullyQualifiedName(engine)
        .should()
        .callConstructorWhere(
            com.tngtech.archunit.base.DescribedPredicate.describe(
                "the restore engine's",
                (com.tngtech.archunit.core.domain.JavaConstructorCall call) ->
                    call.getTargetOwner().getName().equals(engine)))
        .check(CORE);
  }
}
